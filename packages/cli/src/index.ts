// @tributary/cli: The tributary command.
export {};
