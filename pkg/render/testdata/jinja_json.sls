#!jinja|json
{"minion": "{{ grains.id }}", "roles": {{ grains.roles | json }}, "port": {{ pillar.nginx.port }}}
