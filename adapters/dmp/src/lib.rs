pub mod c14n;
