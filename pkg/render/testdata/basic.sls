{# Context variables, pillar.get/grains.get with paths and defaults, salt calls. #}
context:
  saltenv: {{ saltenv }}
  sls: {{ sls }}
  slspath: "{{ slspath }}"
  tpldir: "{{ tpldir }}"
  tplfile: {{ tplfile }}
  opts_id: {{ opts['id'] }}
  minion: {{ grains['id'] }} on {{ grains.os }}
pillar_get:
  branch: {{ salt['pillar.get']('plone:branch', 'dev') }}
  missing_default: {{ salt['pillar.get']('plone:missing', 'dev') }}
  method: {{ pillar.get('nginx:port') }}
  method_default: {{ pillar.get('nginx:nope', default=80) }}
  empty_default: "{{ pillar.get('nope') }}"
  index: {{ pillar['nginx']['worker_processes'] }}
  list_index: {{ pillar.get('servers:1:name') }}
  merged: {{ salt['pillar.get']('nginx:lookup', {'package': 'nginx', 'service': 'nginx'}, merge=True) | json }}
  keys: {{ pillar.keys() | sort | list | json }}
grains_get:
  os_family: {{ grains.get('os_family') }}
  release: {{ salt['grains.get']('osmajorrelease', 0) }}
  first_ip: {{ grains.get('ipv4:0') }}
  missing: {{ grains.get('nope', 'none-here') }}
  config_get: {{ salt['config.get']('id') }}
calls:
  subscript: {{ salt['cmd.run']('uname -s') }}
  attribute: {{ salt.cmd.run('hostname', python_shell=True) }}
  kwargs: {{ salt['test.echo'](text='hi', count=2) | json }}
expressions:
  default: {{ undefined_thing | default('x') }}
  concat: {{ 'web' ~ 1 ~ '-' ~ grains.id }}
  defined: {{ 'yes' if pillar.nginx is defined else 'no' }}
  undefined: {{ 'yes' if pillar.nothing is defined else 'no' }}
  math: {{ grains.mem_total // 1024 * 2 }}
  inline_if: {{ 'big' if grains.mem_total > 1024 else 'small' }}
  in_list: {{ 'web' in grains.roles }}
  upper: {{ grains.os | upper }}
