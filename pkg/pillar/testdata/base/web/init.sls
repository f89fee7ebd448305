include:
  - .sites
  - web.users:
      key: web:accounts
web:
  port: 8080
  # Sees the pillar accumulated so far (common.sls came first).
  ntp_from_common: {{ salt['pillar.get']('common:ntp', 'none') }}
  os: {{ grains.os_family }}
