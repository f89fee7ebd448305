deploy:
  uid: 2001
