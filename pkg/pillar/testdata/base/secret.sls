db_password: hunter2-SECRET
leak: {{ salt['cmd.run']('hunter2-SECRET') }}
