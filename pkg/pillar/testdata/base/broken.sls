fine: 1
bad: {{ salt['cmd.run']('x') }}
