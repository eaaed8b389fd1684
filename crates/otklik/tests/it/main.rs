mod api;
mod browser;
mod conformance;
mod pages;
mod pg;
mod support;
