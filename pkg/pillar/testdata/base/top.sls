base:
  '*':
    - common
  'web*':
    - web
  'os_family:Debian':
    - match: grain
    - debian
  'db1,db2':
    - match: list
    - db
  'G@role:cache and not web*':
    - match: compound
    - cache
  '^broken\d+$':
    - match: pcre
    - broken
    - does.not.exist
  'secret*':
    - secret
  {{ grains.get('id', 'none') }}:
    - own
prod:
  '*':
    - app
