ok: 1
also_ok: {{ grains.id }}
bad: {{ salt['cmd.fail']('x') }}
