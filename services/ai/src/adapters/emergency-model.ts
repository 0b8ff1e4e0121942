import { readFileSync } from 'node:fs';
import { EmergencyClassifier, type EmergencyModel } from '../domain/emergency-classifier.js';
import {
  DEFAULT_EMERGENCY_RULES,
  EmergencyDetector,
  type EmergencyRules,
} from '../domain/emergency.js';

const MODEL_FILE = new URL('../../models/emergency-classifier.json', import.meta.url);
let bundled: EmergencyClassifier | undefined;

/**
 * The classifier trained by bench/emergency/train.py and shipped with the AI
 * service (`models/`), read once per process (about 2 MB of features).
 */
export function bundledEmergencyClassifier(): EmergencyClassifier {
  return (bundled ??= new EmergencyClassifier(
    JSON.parse(readFileSync(MODEL_FILE, 'utf8')) as EmergencyModel,
  ));
}

/** The AI service's emergency detector: the rules, and the bundled classifier beside them. */
export function emergencyDetector(
  rules: EmergencyRules = DEFAULT_EMERGENCY_RULES,
): EmergencyDetector {
  return new EmergencyDetector(rules, { classifier: bundledEmergencyClassifier() });
}
