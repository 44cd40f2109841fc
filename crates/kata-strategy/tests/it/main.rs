//! The runners end to end: real guest, real engine, the real C image with
//! make, both katas backends. Needs the images `images/build` makes.

mod c_kata;
mod incremental;
mod isolation;
mod support;
