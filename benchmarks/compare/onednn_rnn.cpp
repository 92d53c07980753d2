// Times oneDNN's RNN primitives (Debian's libdnnl-dev, the library behind PyTorch 2.x's CPU LSTM) on the side-by-side
// configurations. Reads one config per line on stdin, as `Recurrent.Benchmarks configs` prints them
// (name, kind, layers, bidirectional, packed, train, B, T, I, H, tab-separated), prints `name<TAB>median ms`.
// f32, LSTM, lbr_gru (PyTorch's GRU: the reset gate applied after the recurrent product) and vanilla tanh RNN; one
// primitive per layer (a bidirectional layer's output, both directions concatenated, feeds the next), weights reordered
// into the primitive's preferred layout once, outside the timing. Training: forward_training then backward, the weights
// for the backward reordered once too (a best case for oneDNN: a real loop reorders after every optimizer step).
// Packed configs are skipped: oneDNN has no variable-length input. Threads: OMP_NUM_THREADS (libdnnl uses OpenMP).
//   g++ -O2 -std=c++17 benchmarks/compare/onednn_rnn.cpp -ldnnl -o onednn_rnn
#include <algorithm>
#include <unordered_map>
#include <chrono>
#include <cstdio>
#include <functional>
#include <iostream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include <oneapi/dnnl/dnnl.hpp>

using namespace dnnl;
using tag = memory::format_tag;
using dt = memory::data_type;

namespace {

engine eng(engine::kind::cpu, 0);
stream strm(eng);
std::mt19937 rng(1);

memory filled(const memory::desc &md, float scale) {
    memory m(md, eng);
    std::uniform_real_distribution<float> u(-scale, scale);
    float *p = static_cast<float *>(m.get_data_handle());
    for (size_t i = 0; i < md.get_size() / sizeof(float); i++) p[i] = u(rng);
    return m;
}

// A user-layout memory reordered into the layout a primitive asked for.
memory laid_out(const memory &user, const memory::desc &wanted) {
    if (user.get_desc() == wanted) return user;
    memory m(wanted, eng);
    reorder(user, m).execute(strm, const_cast<memory &>(user), m);
    strm.wait();
    return m;
}

double median_ms(const std::function<void()> &call, double seconds) {
    using clock = std::chrono::steady_clock;
    auto since = [](clock::time_point t) { return std::chrono::duration<double>(clock::now() - t).count(); };
    auto start = clock::now();
    for (int warm = 0; warm < 3 || (since(start) < seconds / 4 && warm < 50); warm++) call();
    std::vector<double> times;
    auto total = clock::now();
    while (times.size() < 5 || (since(total) < seconds && times.size() < 2000)) {
        auto t0 = clock::now();
        call();
        times.push_back(since(t0) * 1000);
    }
    std::sort(times.begin(), times.end());
    return times[times.size() / 2];
}

struct Layer {
    primitive fwd, bwd;
    std::unordered_map<int, memory> fwd_args, bwd_args;
};

// One layer: input width c, hidden h, gates g (4 LSTM, 3 GRU, 1 RNN), d directions.
Layer make_layer(const std::string &kind, int t, int n, int c, int h, int d, bool train, const memory &src_layer, memory &dst_layer, memory &diff_dst_layer, memory &diff_src_layer) {
    const int g = kind == "lstm" || kind == "lstmcell" ? 4 : kind == "gru" ? 3 : 1;
    const int bias_gates = kind == "gru" ? 4 : g;   // lbr_gru keeps the recurrent n-gate bias apart
    const auto dir = d == 2 ? rnn_direction::bidirectional_concat : rnn_direction::unidirectional_left2right;
    const auto prop = train ? prop_kind::forward_training : prop_kind::forward_inference;
    memory::desc src_md({t, n, c}, dt::f32, tag::tnc), dst_md({t, n, d * h}, dt::f32, tag::tnc);
    memory::desc iter_md({1, d, n, h}, dt::f32, tag::ldnc), none;
    memory::desc wl_any({1, d, c, g, h}, dt::f32, tag::any), wi_any({1, d, h, g, h}, dt::f32, tag::any);
    memory::desc bias_md({1, d, bias_gates, h}, dt::f32, tag::ldgo);
    memory wl_user = filled({{1, d, c, g, h}, dt::f32, tag::ldigo}, 0.06f), wi_user = filled({{1, d, h, g, h}, dt::f32, tag::ldigo}, 0.06f);
    memory bias = filled(bias_md, 0.06f), src_iter = filled(iter_md, 0.5f), src_iter_c = filled(iter_md, 0.5f);
    memory dst_iter(iter_md, eng), dst_iter_c(iter_md, eng);
    dst_layer = memory(dst_md, eng);
    const bool lstm = g == 4;

    Layer layer;
    auto add_fwd = [&](const auto &pd) {
        memory wl = laid_out(wl_user, pd.weights_layer_desc()), wi = laid_out(wi_user, pd.weights_iter_desc());
        layer.fwd_args = {{DNNL_ARG_SRC_LAYER, src_layer}, {DNNL_ARG_SRC_ITER, src_iter}, {DNNL_ARG_WEIGHTS_LAYER, wl},
            {DNNL_ARG_WEIGHTS_ITER, wi}, {DNNL_ARG_BIAS, bias}, {DNNL_ARG_DST_LAYER, dst_layer}, {DNNL_ARG_DST_ITER, dst_iter}};
        if (lstm) {
            layer.fwd_args[DNNL_ARG_SRC_ITER_C] = src_iter_c;
            layer.fwd_args[DNNL_ARG_DST_ITER_C] = dst_iter_c;
        }
        if (train) layer.fwd_args[DNNL_ARG_WORKSPACE] = memory(pd.workspace_desc(), eng);
    };
    auto add_bwd = [&](const auto &pd) {
        memory wl = laid_out(wl_user, pd.weights_layer_desc()), wi = laid_out(wi_user, pd.weights_iter_desc());
        diff_src_layer = memory(src_md, eng);
        memory diff_wl(pd.diff_weights_layer_desc(), eng), diff_wi(pd.diff_weights_iter_desc(), eng), diff_bias(bias_md, eng);
        memory diff_src_iter(iter_md, eng), diff_src_iter_c(iter_md, eng), diff_dst_iter = filled(iter_md, 0.0f), diff_dst_iter_c = filled(iter_md, 0.0f);
        layer.bwd_args = {{DNNL_ARG_SRC_LAYER, src_layer}, {DNNL_ARG_SRC_ITER, src_iter}, {DNNL_ARG_WEIGHTS_LAYER, wl},
            {DNNL_ARG_WEIGHTS_ITER, wi}, {DNNL_ARG_BIAS, bias}, {DNNL_ARG_DST_LAYER, dst_layer}, {DNNL_ARG_DST_ITER, dst_iter},
            {DNNL_ARG_WORKSPACE, layer.fwd_args[DNNL_ARG_WORKSPACE]}, {DNNL_ARG_DIFF_SRC_LAYER, diff_src_layer},
            {DNNL_ARG_DIFF_SRC_ITER, diff_src_iter}, {DNNL_ARG_DIFF_WEIGHTS_LAYER, diff_wl}, {DNNL_ARG_DIFF_WEIGHTS_ITER, diff_wi},
            {DNNL_ARG_DIFF_BIAS, diff_bias}, {DNNL_ARG_DIFF_DST_LAYER, diff_dst_layer}, {DNNL_ARG_DIFF_DST_ITER, diff_dst_iter}};
        if (lstm) {
            layer.bwd_args[DNNL_ARG_SRC_ITER_C] = src_iter_c;
            layer.bwd_args[DNNL_ARG_DST_ITER_C] = dst_iter_c;
            layer.bwd_args[DNNL_ARG_DIFF_SRC_ITER_C] = diff_src_iter_c;
            layer.bwd_args[DNNL_ARG_DIFF_DST_ITER_C] = diff_dst_iter_c;
        }
    };

    if (lstm) {
        lstm_forward::primitive_desc pd(lstm_forward::desc(prop, dir, src_md, iter_md, iter_md, wl_any, wi_any, bias_md, dst_md, iter_md, iter_md), eng);
        add_fwd(pd);
        layer.fwd = lstm_forward(pd);
        if (train) {
            lstm_backward::primitive_desc bpd(lstm_backward::desc(prop_kind::backward, dir, src_md, iter_md, iter_md, wl_any, wi_any, bias_md, dst_md, iter_md, iter_md,
                src_md, iter_md, iter_md, wl_any, wi_any, bias_md, dst_md, iter_md, iter_md), eng, pd);
            add_bwd(bpd);
            layer.bwd = lstm_backward(bpd);
        }
    } else if (g == 3) {
        lbr_gru_forward::primitive_desc pd(lbr_gru_forward::desc(prop, dir, src_md, iter_md, wl_any, wi_any, bias_md, dst_md, iter_md), eng);
        add_fwd(pd);
        layer.fwd = lbr_gru_forward(pd);
        if (train) {
            lbr_gru_backward::primitive_desc bpd(lbr_gru_backward::desc(prop_kind::backward, dir, src_md, iter_md, wl_any, wi_any, bias_md, dst_md, iter_md,
                src_md, iter_md, wl_any, wi_any, bias_md, dst_md, iter_md), eng, pd);
            add_bwd(bpd);
            layer.bwd = lbr_gru_backward(bpd);
        }
    } else {
        vanilla_rnn_forward::primitive_desc pd(vanilla_rnn_forward::desc(prop, algorithm::eltwise_tanh, dir, src_md, iter_md, wl_any, wi_any, bias_md, dst_md, iter_md), eng);
        add_fwd(pd);
        layer.fwd = vanilla_rnn_forward(pd);
        if (train) {
            vanilla_rnn_backward::primitive_desc bpd(vanilla_rnn_backward::desc(prop_kind::backward, algorithm::eltwise_tanh, dir, src_md, iter_md, wl_any, wi_any, bias_md, dst_md, iter_md,
                src_md, iter_md, wl_any, wi_any, bias_md, dst_md, iter_md), eng, pd);
            add_bwd(bpd);
            layer.bwd = vanilla_rnn_backward(bpd);
        }
    }
    (void)none;
    return layer;
}

}  // namespace

int main(int argc, char **argv) {
    double seconds = argc > 1 ? std::stod(argv[1]) : 1.0;
    std::string line;
    while (std::getline(std::cin, line)) {
        std::vector<std::string> f;
        std::stringstream ss(line);
        for (std::string cell; std::getline(ss, cell, '\t');) f.push_back(cell);
        if (f.size() != 10) continue;
        const std::string name = f[0], kind = f[1];
        const int layers = std::stoi(f[2]), d = f[3] == "1" ? 2 : 1, n = std::stoi(f[6]), t = std::stoi(f[7]), i = std::stoi(f[8]), h = std::stoi(f[9]);
        const bool packed = f[4] == "1", train = f[5] == "1";
        if (packed) continue;
        std::vector<Layer> stack;
        std::vector<memory> outputs(layers), diff_outputs(layers), diff_inputs(layers);
        memory input = filled({{t, n, i}, dt::f32, tag::tnc}, 1.0f);
        for (int l = 0; l < layers; l++) {
            const memory &src = l == 0 ? input : outputs[l - 1];
            diff_outputs[l] = filled({{t, n, d * h}, dt::f32, tag::tnc}, 1.0f);
            stack.push_back(make_layer(kind, t, n, l == 0 ? i : d * h, h, d, train, src, outputs[l], diff_outputs[l], diff_inputs[l]));
        }
        if (train) {
            // Each layer's backward takes the next layer's input gradient as its output gradient.
            for (int l = 0; l + 1 < layers; l++) stack[l].bwd_args[DNNL_ARG_DIFF_DST_LAYER] = stack[l + 1].bwd_args[DNNL_ARG_DIFF_SRC_LAYER];
        }
        double ms = median_ms([&] {
            for (auto &layer : stack) layer.fwd.execute(strm, layer.fwd_args);
            if (train) for (auto it = stack.rbegin(); it != stack.rend(); ++it) it->bwd.execute(strm, it->bwd_args);
            strm.wait();
        }, seconds);
        std::printf("%s\t%.4f\n", name.c_str(), ms);
        std::fflush(stdout);
    }
    return 0;
}
