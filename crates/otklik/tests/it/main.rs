mod api;
mod browser;
mod calendar_cli;
mod conformance;
mod pages;
mod pg;
mod support;
mod transparency;
