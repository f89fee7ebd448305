web:
  sites:
    - name: www.example.com
      port: 80
      enabled: true
    - name: api.example.com
      port: 8080
      enabled: true
    - name: staging.example.com
      port: 8081
      enabled: {{ grains.get('env', 'dev') != 'prod' }}
