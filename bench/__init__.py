"""`make bench`: synth speed, org size and deploy depth, measured on this machine."""
