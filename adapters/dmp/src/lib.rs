pub mod c14n;
pub mod dsig;
