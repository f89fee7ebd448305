web:
  sites:
    - name: www.example.com
      enabled: true
    - name: old.example.com
      enabled: false
