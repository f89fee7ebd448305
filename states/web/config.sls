{%- from "demo.jinja" import prefix with context %}
{%- set web = salt['pillar.get']('web', {}) %}
{%- set conf = prefix ~ '/etc/nginx' %}
nginx-dirs:
  file.directory:
    - names:
      - {{ conf }}/sites-available
      - {{ conf }}/sites-enabled
    - makedirs: True

nginx-conf:
  file.managed:
    - name: {{ conf }}/nginx.conf
    - source: salt://web/files/nginx.conf.j2
    - template: jinja
    - mode: 644
    - context:
        conf: {{ conf }}
        user: {{ web.get('user', 'www-data') }}
    - require:
      - file: nginx-dirs

{%- for site in web.get('sites', []) %}

site-{{ site.name }}:
  file.managed:
    - name: {{ conf }}/sites-available/{{ site.name }}.conf
    - source: salt://web/files/site.conf.j2
    - template: jinja
    - context:
        site: {{ site | json }}
        docroot: {{ prefix }}{{ web.get('docroot', '/srv/www') }}/current
    - require:
      - file: nginx-dirs
{%- if site.enabled %}

site-{{ site.name }}-enabled:
  file.symlink:
    - name: {{ conf }}/sites-enabled/{{ site.name }}.conf
    - target: {{ conf }}/sites-available/{{ site.name }}.conf
    - require_in:
      - file: sites-enabled-clean
{%- endif %}
{%- endfor %}

# Sites that are no longer enabled lose their link: clean keeps only what
# the directory requires.
sites-enabled-clean:
  file.directory:
    - name: {{ conf }}/sites-enabled
    - clean: True

# Stands in for "nginx -t && systemctl reload nginx": it runs only when the
# configuration changed.
nginx-reload:
  cmd.run:
    - name: test -s {{ conf }}/nginx.conf && echo "configuration changed, nginx would reload"
    - onchanges:
      - file: nginx-conf
      - file: {{ conf }}/sites-available/*
