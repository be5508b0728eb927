//! Workflows: what the user asks for, from start to report, used alike by
//! the command line and the window. Each takes typed options, reports typed
//! progress events, and returns a typed report (`Display` for people).

pub mod retrain;
pub mod train;
