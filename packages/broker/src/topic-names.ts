// Kafka's topic name rules, checked before any request reaches a log folder.
const LEGAL = /^[a-zA-Z0-9._-]+$/;
export const MAX_TOPIC_NAME_LENGTH = 249;

export function topicNameProblem(name: string): string | undefined {
  if (name.length === 0) return "a topic name cannot be empty";
  if (name.length > MAX_TOPIC_NAME_LENGTH) return `topic name is ${name.length} characters; the limit is ${MAX_TOPIC_NAME_LENGTH}`;
  if (name === "." || name === "..") return `"${name}" is not a valid topic name`;
  if (!LEGAL.test(name)) return `topic name "${name}" may only hold ASCII letters, digits, '.', '_' and '-'`;
  return undefined;
}
