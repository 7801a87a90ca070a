// @tributary/client: The Tributary SDK: Producer, Consumer and Admin.
export {};
