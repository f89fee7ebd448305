{%- from "demo.jinja" import prefix with context %}
{%- for name, u in salt['pillar.get']('web:users', {}) | dictsort %}
web-user-{{ name }}:
  user.present:
    - name: {{ name }}
    {%- if u.uid is defined %}
    - uid: {{ u.uid }}
    {%- endif %}
    - shell: {{ u.shell | default('/bin/sh') }}
    - home: {{ prefix }}/home/{{ name }}
    - optional_groups: {{ u.groups | default([]) | json }}
{%- endfor %}
