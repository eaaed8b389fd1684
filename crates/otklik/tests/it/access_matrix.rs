//! Every route × every role (written by a helper).
