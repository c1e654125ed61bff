"""Organization config, placement plan and command line of the GenAI platform blueprint."""
