{%- set data = {'b': [1, 2], 'a': 'x', 'c': {'d': true}} %}
json: '{{ data | json }}'
tojson: '{{ data | tojson }}'
yaml_flow: {{ data | yaml }}
yaml_block: |
  {{ data | yaml(False) | indent(2) }}
yaml_encode: {{ 'a: b' | yaml_encode }}
yaml_dquote: {{ 'say "hi"' | yaml_dquote }}
load_yaml: {{ ('{x: [1, 2]}' | load_yaml).x | json }}
load_json: {{ ('{"y": 3}' | load_json).y }}
regex_match: {{ 'abcd' | regex_match('^(.*)BC(.*)$', ignorecase=True) | json }}
regex_no_match: {{ 'abcd' | regex_match('bc') | json }}
regex_search: {{ 'abcd' | regex_search('b(c)') | json }}
regex_replace: {{ 'foo bar baz' | regex_replace('ba(.)', 'X\\1') }}
unique: {{ ['b', 'a', 'b', 'c', 'a'] | unique | json }}
sequence_scalar: {{ 'one' | sequence | json }}
sequence_list: {{ ['one'] | sequence | json }}
is_list: [{{ [1] | is_list }}, {{ 'x' | is_list }}]
list_test: {{ grains.roles is list }}
strftime: {{ '2024-02-29 13:45:00' | strftime('%Y/%m/%d %H:%M') }}
strftime_epoch: {{ 0 | strftime('%Y-%m-%d') }}
traverse: {{ pillar | traverse('users:alice:uid') }}
traverse_default: {{ pillar | traverse('users:carol:uid', 'none') }}
to_bool: [{{ 'yes' | to_bool }}, {{ 'no' | to_bool }}, {{ 1 | to_bool }}, {{ 0 | to_bool }}]
base64_encode: {{ 'brine' | base64_encode }}
base64_decode: {{ 'YnJpbmU=' | base64_decode }}
md5: {{ 'brine' | md5 }}
sha256: {{ 'brine' | sha256 }}
match_test: {{ grains.os is match('ubu', True) }}
union: {{ [1, 2] | union([2, 3]) | json }}
difference: {{ [1, 2, 3] | difference([2]) | json }}
