{%- from "nginx/map.jinja" import nginx, by_os, by_base, by_default, by_glob with context %}
nginx_pkg:
  pkg.installed:
    - name: {{ nginx.package }}
nginx_conf:
  file.managed:
    - name: {{ nginx.config }}
    - user: {{ nginx.user }}
    - context:
        port: {{ nginx.port }}
        workers: {{ nginx.worker_processes }}
        log_dir: {{ nginx.log_dir }}
lookups:
  by_os: {{ by_os }}
  by_base: {{ by_base | json }}
  by_default: {{ by_default }}
  by_glob: {{ by_glob }}
