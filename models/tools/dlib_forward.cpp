// Parity aid (not part of the cargo build): runs dlib's own networks on a raw float tensor
// and writes the raw float output, to compare with the ONNX files run by tract
// (`cargo run -p faceid-model-converter --example run_onnx -- <onnx> <in.f32> H W <out.f32>`).
//
// Build against a dlib source tree (the reference used dlib 20.0.1, AVX, no BLAS):
//   g++ -O3 -mavx -std=c++17 -DDLIB_NO_GUI_SUPPORT -DDLIB_DISABLE_ASSERTS -I<dlib> \
//       dlib_forward.cpp <dlib>/dlib/all/source.cpp -lpthread -o dlib_forward
// Usage:
//   dlib_forward mmod       mmod_human_face_detector.dat                in.f32 H W out.f32
//   dlib_forward resnet     dlib_face_recognition_resnet_model_v1.dat   in.f32 150 150 out.f32
//   dlib_forward resnet_rgb dlib_face_recognition_resnet_model_v1.dat   chip.u8 150 150 out.f32
// in.f32 = 3*H*W little-endian floats, planar RGB, already (v - mean)/256; chip.u8 =
// interleaved RGB bytes (goes through dlib's input layer). The outputs are raw floats.
#include <dlib/dnn.h>
#include <fstream>
#include <iostream>
using namespace dlib;
using namespace std;

template <long num_filters, typename SUBNET> using con5d = con<num_filters,5,5,2,2,SUBNET>;
template <long num_filters, typename SUBNET> using con5  = con<num_filters,5,5,1,1,SUBNET>;
template <typename SUBNET> using downsampler  = relu<affine<con5d<32, relu<affine<con5d<32, relu<affine<con5d<16,SUBNET>>>>>>>>>;
template <typename SUBNET> using rcon5  = relu<affine<con5<45,SUBNET>>>;
using mmod_net = loss_mmod<con<1,9,9,1,1,rcon5<rcon5<rcon5<downsampler<input_rgb_image_pyramid<pyramid_down<6>>>>>>>>;

template <template <int,template<typename>class,int,typename> class block, int N, template<typename>class BN, typename SUBNET>
using residual = add_prev1<block<N,BN,1,tag1<SUBNET>>>;
template <template <int,template<typename>class,int,typename> class block, int N, template<typename>class BN, typename SUBNET>
using residual_down = add_prev2<avg_pool<2,2,2,2,skip1<tag2<block<N,BN,2,tag1<SUBNET>>>>>>;
template <int N, template <typename> class BN, int stride, typename SUBNET>
using block  = BN<con<N,3,3,1,1,relu<BN<con<N,3,3,stride,stride,SUBNET>>>>>;
template <int N, typename SUBNET> using ares      = relu<residual<block,N,affine,SUBNET>>;
template <int N, typename SUBNET> using ares_down = relu<residual_down<block,N,affine,SUBNET>>;
template <typename SUBNET> using alevel0 = ares_down<256,SUBNET>;
template <typename SUBNET> using alevel1 = ares<256,ares<256,ares_down<256,SUBNET>>>;
template <typename SUBNET> using alevel2 = ares<128,ares<128,ares_down<128,SUBNET>>>;
template <typename SUBNET> using alevel3 = ares<64,ares<64,ares<64,ares_down<64,SUBNET>>>>;
template <typename SUBNET> using alevel4 = ares<32,ares<32,ares<32,SUBNET>>>;
using anet_type = loss_metric<fc_no_bias<128,avg_pool_everything<
                            alevel0<alevel1<alevel2<alevel3<alevel4<
                            max_pool<3,3,2,2,relu<affine<con<32,7,7,2,2,
                            input_rgb_image_sized<150>>>>>>>>>>>>>;

int main(int argc, char** argv) {
    if (argc != 7) { cerr << "usage\n"; return 2; }
    string mode = argv[1];
    long H = atol(argv[4]), W = atol(argv[5]);
    ifstream fin(argv[3], ios::binary);
    std::vector<char> buf((istreambuf_iterator<char>(fin)), istreambuf_iterator<char>());
    const tensor* out = nullptr;
    resizable_tensor t;
    mmod_net mnet; anet_type rnet;
    matrix<float,0,1> desc;
    if (mode == "resnet_rgb") {
        deserialize(argv[2]) >> rnet;
        matrix<rgb_pixel> img(H, W);
        for (long r = 0; r < H; ++r) for (long c = 0; c < W; ++c) {
            auto p = (unsigned char*)&buf[(r*W + c)*3];
            img(r,c) = rgb_pixel(p[0], p[1], p[2]);
        }
        desc = rnet(img);
        ofstream(argv[6], ios::binary).write((char*)&desc(0), 4*desc.size());
        return 0;
    }
    t.set_size(1, 3, H, W);
    memcpy(t.host(), buf.data(), 4*3*H*W);
    if (mode == "mmod") {
        deserialize(argv[2]) >> mnet;
        mnet.subnet().forward(t);
        out = &mnet.subnet().get_output();
    } else {
        deserialize(argv[2]) >> rnet;
        rnet.subnet().forward(t);
        out = &rnet.subnet().get_output();
    }
    cerr << "out " << out->num_samples() << "x" << out->k() << "x" << out->nr() << "x" << out->nc() << "\n";
    ofstream(argv[6], ios::binary).write((const char*)out->host(), 4*out->size());
    return 0;
}
