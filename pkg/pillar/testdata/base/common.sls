common:
  ntp: pool.ntp.org
  admins: [alice]
web:
  port: 80
