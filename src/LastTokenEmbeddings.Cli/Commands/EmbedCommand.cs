using System.CommandLine;
using LastTokenEmbeddings.Cli.Output;
using LastTokenEmbeddings.Embeddings;
using Spectre.Console;

namespace LastTokenEmbeddings.Cli.Commands;

/// <summary><c>lte embed</c>: embedding vectors for texts given as arguments or read from a file.</summary>
internal static class EmbedCommand
{
    public static Command Create(CliContext context)
    {
        var shared = new ModelOptionSet();
        var texts = CliOptions.Texts();
        var input = CliOptions.Input();
        var role = CliOptions.Role();
        var pooling = CliOptions.Pooling();
        var prompt = CliOptions.Prompt();
        var noNormalize = CliOptions.NoNormalize();

        var command = new Command("embed", "Embed texts (arguments and/or --input FILE) and print the vectors.");
        command.Arguments.Add(texts);
        command.AddOptions(input, role, pooling, prompt, noNormalize);
        shared.AddTo(command);

        command.SetAction(async (result, ct) =>
        {
            var promptName = result.GetValue(prompt)?.ToLowerInvariant();
            var instruction = result.GetValue(shared.Instruction);
            CliOptions.CheckInstruction(instruction, promptName is null ? [] : [promptName]);
            var poolingName = result.GetValue(pooling);
            var layer = result.GetValue(shared.Layer);
            var strategy = poolingName is null ? (layer is null ? null : CliOptions.ParsePooling("last-token-hidden", layer)) : CliOptions.ParsePooling(poolingName, layer);
            var format = promptName is null ? null : CliOptions.ParsePrompt(promptName, instruction);
            var textRole = CliOptions.ParseRole(result.GetValue(role)!);
            var json = shared.IsJson(result);
            var all = TextInput.Collect(result.GetValue(texts), result.GetValue(input), context.In);
            var directory = shared.ResolveModel(result, context);

            var options = shared.EmbeddingOptions(result, strategy, format, normalize: result.GetValue(noNormalize) ? false : null);
            using var model = EmbeddingModel.Load(directory, options, shared.LoadOptions(result));
            var embeddings = await EmbeddingProgressDisplay.RunAsync(context, "Embedding", all.Count,
                tracker => model.EmbedAsync(all, textRole, tracker.Next(all.Count), ct)).ConfigureAwait(false);

            if (json)
                WriteJson(context, directory, model, embeddings);
            else
                WriteTable(context, directory, model, all, embeddings);
            return ExitCodes.Success;
        });
        return command;
    }

    private static void WriteJson(CliContext context, string directory, EmbeddingModel model, IReadOnlyList<TextEmbedding> embeddings) =>
        JsonOutput.Write(context.Out, w =>
        {
            w.WriteString("model", directory);
            w.WriteString("pooling", model.Pooling.Name);
            w.WriteString("prompt", model.Prompt.Name);
            w.WriteNumber("dimension", model.Dimensions);
            w.WriteBoolean("normalized", model.Normalize);
            w.WriteStartArray("data");
            for (var i = 0; i < embeddings.Count; i++)
            {
                w.WriteStartObject();
                w.WriteNumber("index", i);
                w.WriteNumber("tokens", embeddings[i].TokenCount);
                JsonOutput.WriteFloatArray(w, "embedding", embeddings[i].Vector);
                w.WriteEndObject();
            }
            w.WriteEndArray();
        });

    private static void WriteTable(CliContext context, string directory, EmbeddingModel model, IReadOnlyList<string> texts, IReadOnlyList<TextEmbedding> embeddings)
    {
        var console = context.CreateOutConsole();
        var table = new Table()
            .Title($"{Markup.Escape(model.ModelId)} · {model.Pooling.Name} · {model.Prompt.Name} · {model.Dimensions} dims{(model.Normalize ? "" : " · not normalized")}")
            .AddColumn(new TableColumn("#").RightAligned())
            .AddColumn("Text")
            .AddColumn(new TableColumn("Tokens").RightAligned())
            .AddColumn(new TableColumn("Norm").RightAligned())
            .AddColumn("Vector");
        for (var i = 0; i < embeddings.Count; i++)
        {
            var vector = embeddings[i].Vector;
            var norm = (float)Math.Sqrt(vector.Sum(v => (double)v * v));
            var tokens = embeddings[i].TokenCount + (embeddings[i].Truncated ? " (truncated)" : "");
            table.AddRow(i.ToString(System.Globalization.CultureInfo.InvariantCulture), TextFormat.Preview(texts[i]), tokens,
                TextFormat.Number(norm), TextFormat.VectorPreview(vector));
        }
        console.Write(table);
        console.MarkupLine($"[grey]model: {Markup.Escape(directory)} — use --format json for the full vectors.[/]");
    }
}
