//! Every bad-campaign case gives its exact message with file, line and column.
