export * from "./image.js";
