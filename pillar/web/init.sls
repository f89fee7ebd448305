{#- The web role: which sites to serve, who deploys, where the code lives. -#}
{%- set env = grains.get('env', 'dev') %}
include:
  - web.sites
web:
  user: www-data
  group: www-data
  docroot: /srv/www
  repo:
    url: https://git.example.com/brine/demo-site.git
    branch: {{ 'main' if env == 'prod' else 'develop' }}
  users:
    deploy:
      uid: 2001
      shell: /bin/bash
      groups: [www-data]
    alice:
      uid: 2002
      groups: [www-data, sudo]
