//! The declarative file of `fedgate plan` and `fedgate apply`.
