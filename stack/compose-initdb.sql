-- docker-compose.yml: the test database beside the app's, as stack/stack.sh creates it.
CREATE DATABASE jobboard_test OWNER jobboard;
