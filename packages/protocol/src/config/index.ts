export * from "./definitions.js";
export * from "./properties.js";
export * from "./resolve.js";
