import { ruleTester } from '../helpers/rule-tester.ts';

ruleTester('bucket-insecure-not-allowed', {
  valid: [
    { name: 'secure', yaml: 'kind: Bucket\nspec: {ignore: "*"}' },
    {
      name: 'allowed',
      yaml: 'kind: Bucket\nspec: {ignore: "*", insecure: true}',
      policy: 'bucket: {allowInsecure: true}',
    },
  ],
  invalid: [
    { name: 'insecure endpoint', yaml: 'kind: Bucket\nspec: {ignore: "*", insecure: true}', paths: ['spec.insecure'] },
  ],
});
