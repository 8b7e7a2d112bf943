//! The deploy workers: they claim jobs from the Postgres queue and run them through the
//! jobs service, renewing each job's lease while it runs; and the periodic drift scan.

pub mod drift_scan;
pub mod worker;
