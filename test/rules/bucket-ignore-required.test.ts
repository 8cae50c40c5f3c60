import { ruleTester } from '../helpers/rule-tester.ts';

const bucket = (spec: string) => `kind: Bucket\nspec: ${spec}`;

ruleTester('bucket-ignore-required', {
  valid: [
    { name: 'one pattern', yaml: bucket('{ignore: "*.md"}') },
    {
      name: 'docs fragment: exclude all, include deploy',
      yaml: bucket('{ignore: "# exclude all\\n/*\\n# include deploy dir\\n!/deploy\\n"}'),
    },
    { name: 'escaped hash is a pattern, not a comment', yaml: bucket('{ignore: "\\\\#notes"}') },
    { name: 'policy does not require it', yaml: bucket('{}'), policy: 'bucket: {requireIgnore: false}' },
    { name: 'an OCIRepository without ignore is not a Bucket', yaml: 'spec: {}' },
  ],
  invalid: [
    { name: 'absent', yaml: bucket('{}'), paths: ['spec.ignore'], messageIncludes: ['missing'] },
    { name: 'empty string', yaml: bucket('{ignore: ""}'), paths: ['spec.ignore'] },
    { name: 'blank lines', yaml: bucket('{ignore: "\\n   \\n\\t\\n"}'), paths: ['spec.ignore'] },
    {
      name: 'comments only',
      yaml: bucket('{ignore: "# nothing\\n  # indented comment\\n"}'),
      paths: ['spec.ignore'],
      messageIncludes: ['comments'],
    },
    {
      name: 'negations only exclude nothing',
      yaml: bucket('{ignore: "!deploy\\n"}'),
      paths: ['spec.ignore'],
      messageIncludes: ['negations'],
    },
    { name: 'null', yaml: bucket('{ignore: null}'), paths: ['spec.ignore'] },
    { name: 'not a string', yaml: bucket('{ignore: ["*.md"]}'), paths: ['spec.ignore'] },
  ],
});
