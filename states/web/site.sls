{%- from "demo.jinja" import prefix with context %}
{%- set web = salt['pillar.get']('web', {}) %}
{%- set repo = prefix ~ '/var/lib/brine-demo/site.git' %}
{%- set docroot = prefix ~ web.get('docroot', '/srv/www') %}
# A local repository stands in for the site's upstream, so the example
# works offline; it is created once.
site-repo:
  cmd.run:
    - name: |
        set -e
        git init -q --bare {{ repo }}
        tmp=$(mktemp -d)
        git -C "$tmp" init -q -b main
        printf '<h1>Hello from Brine</h1>\n' > "$tmp/index.html"
        git -C "$tmp" add index.html
        git -C "$tmp" -c user.name=Brine -c user.email=demo@brine.invalid commit -q -m "demo site"
        git -C "$tmp" push -q {{ repo }} main
        git -C {{ repo }} symbolic-ref HEAD refs/heads/main
        rm -rf "$tmp"
    - creates: {{ repo }}/HEAD

docroot:
  file.directory:
    - name: {{ docroot }}
    - makedirs: True
    - user: {{ web.get('user', 'root') }}
    - group: {{ web.get('group', 'root') }}
    - mode: 755

site-checkout:
  git.latest:
    - name: file://{{ repo }}
    - target: {{ docroot }}/current
    - rev: main
    - force_reset: True
    - user: {{ web.get('user', 'root') }}
    - require:
      - cmd: site-repo
      - file: docroot
