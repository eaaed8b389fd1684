mod browser;
mod conformance;
mod pg;
mod support;
