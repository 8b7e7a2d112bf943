//! The deploy workers: they claim jobs from the Postgres queue and run them through the
//! jobs service, renewing each job's lease while it runs.

pub mod worker;
