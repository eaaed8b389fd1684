mod conformance;
mod pg;
