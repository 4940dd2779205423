using System.CommandLine;
using System.Globalization;
using LastTokenEmbeddings.Checkpoints;
using LastTokenEmbeddings.Cli.Output;
using LastTokenEmbeddings.Tokenization;
using Spectre.Console;

namespace LastTokenEmbeddings.Cli.Commands;

/// <summary><c>lte tokenize</c>: the token ids the model sees, prompt format applied. Loads only the tokenizer and config.</summary>
internal static class TokenizeCommand
{
    public static Command Create(CliContext context)
    {
        var model = CliOptions.Model();
        var revision = CliOptions.Revision();
        var texts = CliOptions.Texts();
        var input = CliOptions.Input();
        var role = CliOptions.Role();
        var prompt = CliOptions.Prompt();
        var instruction = CliOptions.Instruction();
        var specialTokens = CliOptions.SpecialTokens();
        var maxTokens = CliOptions.MaxTokens();
        var format = CliOptions.Format();

        var command = new Command("tokenize", "Print the token ids of texts after the prompt format is applied (no weights are loaded).");
        command.Arguments.Add(texts);
        command.AddOptions(model, revision, input, role, prompt, instruction, specialTokens, maxTokens, format);

        command.SetAction((result, ct) =>
        {
            var promptName = result.GetValue(prompt)?.ToLowerInvariant();
            var task = result.GetValue(instruction);
            CliOptions.CheckInstruction(task, promptName is null ? [] : [promptName]);
            var parse = CliOptions.ParseSpecialTokens(result.GetValue(specialTokens)) switch
            {
                Embeddings.SpecialTokenPolicy.Parse => true,
                Embeddings.SpecialTokenPolicy.AsText => false,
                _ => (bool?)null,
            };
            var textRole = CliOptions.ParseRole(result.GetValue(role)!);
            var all = TextInput.Collect(result.GetValue(texts), result.GetValue(input), context.In);
            var directory = ModelLocator.Resolve(result.GetValue(model), context, result.GetValue(revision));

            var config = DecoderConfig.Load(Path.Combine(directory, "config.json"));
            var tokenizer = ModelTokenizer.Load(directory);
            var declared = DeclaredEmbeddingSettings.Read(directory, config.HiddenSize);
            var promptFormat = Embeddings.DeclaredDefaults.Prompt(promptName is null ? null : CliOptions.ParsePrompt(promptName, task), declared);
            var limit = Embeddings.DeclaredDefaults.MaxTokens(result.GetValue(maxTokens), config, declared);
            var fixedTokens = promptFormat.GetFixedTokenCount(tokenizer, textRole);
            if (limit <= fixedTokens)
                throw new UsageException($"--max-tokens must exceed the {fixedTokens} tokens the {promptFormat.Name} format adds.");

            var ids = new int[all.Count][];
            for (var i = 0; i < all.Count; i++)
            {
                ct.ThrowIfCancellationRequested();
                ids[i] = promptFormat.BuildIds(tokenizer, all[i], textRole, limit, TruncationPolicy.Truncate, parse, out _);
            }

            if (CliOptions.IsJson(result.GetValue(format)!))
            {
                JsonOutput.Write(context.Out, w =>
                {
                    w.WriteStartArray("data");
                    for (var i = 0; i < ids.Length; i++)
                    {
                        w.WriteStartObject();
                        w.WriteNumber("index", i);
                        JsonOutput.WriteIntArray(w, "ids", ids[i]);
                        w.WriteEndObject();
                    }
                    w.WriteEndArray();
                });
            }
            else
            {
                var console = context.CreateOutConsole();
                var table = new Table()
                    .Title($"{promptFormat.Name} · {result.GetValue(role)!.ToLowerInvariant()}")
                    .AddColumn(new TableColumn("#").RightAligned())
                    .AddColumn("Text")
                    .AddColumn(new TableColumn("Tokens").RightAligned())
                    .AddColumn("Ids");
                for (var i = 0; i < ids.Length; i++)
                {
                    table.AddRow(i.ToString(CultureInfo.InvariantCulture), TextFormat.Preview(all[i]),
                        ids[i].Length.ToString(CultureInfo.InvariantCulture),
                        string.Join(' ', ids[i].Select(id => id.ToString(CultureInfo.InvariantCulture))));
                }
                console.Write(table);
            }
            return Task.FromResult(ExitCodes.Success);
        });
        return command;
    }
}
