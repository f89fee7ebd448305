pkg:
  manager: apt
common:
  admins: [debian-admin]
