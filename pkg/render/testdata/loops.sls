{#- for..if, loop variables, namespace(), whitespace control, dict iteration -#}
{%- set ns = namespace(enabled=0, names=[]) %}
{%- for s in pillar.servers if s.enabled %}
{%-   set ns.enabled = ns.enabled + 1 %}
site_{{ s.name }}:
  port: {{ s.port }}
  first: {{ loop.first }}
  last: {{ loop.last }}
  index: {{ loop.index }}
{%- endfor %}
counted:
  enabled: {{ ns.enabled }}
users:
{%- for name, u in pillar.users.items() | sort %}
  {{ name }}:
    uid: {{ u.uid }}
    shell: {{ u.shell | default('/bin/bash') }}
{%- endfor %}
{%- macro port_line(name, port=80, proto='tcp') -%}
{{ name }}/{{ proto }}:{{ port }}
{%- endmacro %}
macros:
  positional: {{ port_line('web', 8080) }}
  keyword: {{ port_line('dns', proto='udp', port=53) }}
  defaults: {{ port_line('plain') }}
{%- set items = [] %}
{%- for i in range(3) %}{% do items.append(i * 2) %}{% endfor %}
do_append: {{ items | json }}
{% raw -%}
raw: "{{ not rendered }} {% neither %}"
{%- endraw %}
