//! The server on a real loopback socket, with real containers: what a
//! client of either API sees. Needs the images `images/build` makes.

mod cyber_dojo;
mod native;
mod operation;
mod support;
