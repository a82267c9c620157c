//! Row-wise softmax family (in progress).
