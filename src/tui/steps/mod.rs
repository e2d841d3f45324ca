//! The steps, each one room: its state, what its keys do, what it asks for in the
//! background, and how it is drawn. Steps import the messages and the leaves, never the
//! app or the frame.

pub mod accounts;
pub mod basics;
pub mod didfile;
pub mod doctor;
pub mod email;
pub mod handle;
pub mod overview;
pub mod proxy;
pub mod review;
pub mod server;
pub mod settings;
