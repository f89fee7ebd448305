{%- import "lib/macros.jinja" as lib %}
{%- from "lib/macros.jinja" import greeting, ports as port_map, user %}
{%- from "./lib/macros.jinja" import from_grains %}
{%- set local_var = 'visible' %}
module:
  greeting: {{ lib.greeting }}
  https: {{ lib.ports.https }}
  macro: {{ lib.from_grains() }}
from_import:
  greeting: {{ greeting }}
  port_map: {{ port_map | json }}
  relative: {{ from_grains() }}
users:
  {{ user('carol', 1003) }}
{% include "lib/snippet.jinja" %}
{% include "lib/nope.jinja" ignore missing %}
