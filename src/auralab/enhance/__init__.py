"""Speech enhancement: evaluation now; models, training and inference build on it."""
