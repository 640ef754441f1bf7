pub mod dev_server;
