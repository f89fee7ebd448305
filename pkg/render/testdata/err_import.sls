{%- from "nginx/broken.jinja" import a with context %}
a: {{ a }}
