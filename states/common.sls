{%- from "demo.jinja" import prefix with context %}
{%- set common = salt['pillar.get']('common', {}) %}
etc-dir:
  file.directory:
    - name: {{ prefix }}/etc
    - makedirs: True

motd:
  file.managed:
    - name: {{ prefix }}/etc/motd
    - mode: 644
    - contents: |
        This host is managed by Brine ({{ grains.get('id', 'unknown') }}); local changes are overwritten.
        Admins: {{ common.get('admins', []) | join(', ') }}
        Timezone: {{ common.get('timezone', 'UTC') }}
    - require:
      - file: etc-dir
